-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION normalize_email(raw text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN lower(btrim(raw));
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION normalize_email(text);
