CREATE TABLE public.profiles (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
