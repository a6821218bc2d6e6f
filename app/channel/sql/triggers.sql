DROP TRIGGER IF EXISTS points_grants_append_only ON points_grants;
CREATE TRIGGER points_grants_append_only BEFORE UPDATE OR DELETE ON points_grants
    FOR EACH ROW EXECUTE FUNCTION points_grants_append_only();

DROP TRIGGER IF EXISTS points_grants_no_truncate ON points_grants;
CREATE TRIGGER points_grants_no_truncate BEFORE TRUNCATE ON points_grants
    FOR EACH STATEMENT EXECUTE FUNCTION points_grants_append_only();
