CREATE INDEX `refunds_settled_idx` ON `refunds` (`settled_at`);--> statement-breakpoint
CREATE INDEX `returns_updated_idx` ON `returns` (`updated_at`);