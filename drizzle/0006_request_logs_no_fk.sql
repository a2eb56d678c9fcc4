ALTER TABLE "request_logs" DROP CONSTRAINT "request_logs_org_id_organizations_id_fk";
--> statement-breakpoint
ALTER TABLE "request_logs" DROP CONSTRAINT "request_logs_project_id_projects_id_fk";
--> statement-breakpoint
-- Deleting a project or an organization removes its request logs, as the foreign keys'
-- ON DELETE CASCADE did. The writer takes FOR KEY SHARE on a batch's projects before it
-- inserts, so a project deleted concurrently waits for the batch and then removes it too.
CREATE FUNCTION "request_logs_delete_for_project"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "request_logs" WHERE "project_id" = OLD."id";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "projects_delete_request_logs" AFTER DELETE ON "projects" FOR EACH ROW EXECUTE FUNCTION "request_logs_delete_for_project"();
--> statement-breakpoint
CREATE FUNCTION "request_logs_delete_for_org"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "request_logs" WHERE "org_id" = OLD."id";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "organizations_delete_request_logs" AFTER DELETE ON "organizations" FOR EACH ROW EXECUTE FUNCTION "request_logs_delete_for_org"();
