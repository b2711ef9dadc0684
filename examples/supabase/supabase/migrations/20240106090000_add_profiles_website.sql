ALTER TABLE public.profiles ADD COLUMN website text;
CREATE INDEX profiles_username_idx ON public.profiles (username);
