CREATE TABLE "blobs" (
	"path" text PRIMARY KEY NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"content" "bytea" NOT NULL
);
