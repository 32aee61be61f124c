CREATE TABLE `failed_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`order_id` text NOT NULL,
	`queue` text NOT NULL,
	`job_id` text NOT NULL,
	`event` text NOT NULL,
	`attempt` integer NOT NULL,
	`error` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `failed_attempts_order_idx` ON `failed_attempts` (`order_id`,`id`);--> statement-breakpoint
CREATE INDEX `failed_attempts_job_idx` ON `failed_attempts` (`job_id`,`id`);--> statement-breakpoint
CREATE TABLE `operator_actions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`order_id` text NOT NULL,
	`action` text NOT NULL,
	`actor` text NOT NULL,
	`job_id` text,
	`outcome` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `operator_actions_order_idx` ON `operator_actions` (`order_id`,`id`);