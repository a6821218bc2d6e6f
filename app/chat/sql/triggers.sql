DROP TRIGGER IF EXISTS chat_moderation_append_only ON chat_moderation;
CREATE TRIGGER chat_moderation_append_only BEFORE UPDATE OR DELETE ON chat_moderation
    FOR EACH ROW EXECUTE FUNCTION chat_moderation_append_only();
