CREATE INDEX "refunds_settled_idx" ON "refunds" USING btree ("settled_at");--> statement-breakpoint
CREATE INDEX "returns_updated_idx" ON "returns" USING btree ("updated_at");