CREATE OR REPLACE FUNCTION chat_moderation_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'chat_moderation is append-only' USING ERRCODE = 'restrict_violation';
END $$;
