CREATE TABLE "cluster_members" (
	"holder" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"started_at" bigint NOT NULL,
	"seen_at" bigint NOT NULL
);
