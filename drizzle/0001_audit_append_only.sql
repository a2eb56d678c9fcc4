-- The audit log is append-only: refuse UPDATE and DELETE for every role.
CREATE OR REPLACE FUNCTION tollgate_audit_log_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION tollgate_audit_log_immutable();
