-- The audit log is append-only: TRUNCATE bypasses row triggers, so refuse it with a statement trigger.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON "audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_audit_log_immutable();
