CREATE OR REPLACE FUNCTION points_grants_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_grants is append-only: % is refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;
