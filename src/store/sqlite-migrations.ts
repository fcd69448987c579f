/**
 * Schema migrations, applied in order by `PRAGMA user_version`. Append only: a released
 * migration is never edited.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE objects (
    repository   TEXT NOT NULL,
    path         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT,
    etag         TEXT,
    last_modified TEXT,
    checked_at   INTEGER NOT NULL,
    mutable      INTEGER NOT NULL,
    verification TEXT NOT NULL,
    PRIMARY KEY (repository, path)
  ) WITHOUT ROWID;
  CREATE INDEX objects_sha256 ON objects (sha256);

  CREATE TABLE expectations (
    repository TEXT NOT NULL,
    path       TEXT NOT NULL,
    algorithm  TEXT NOT NULL,
    digest     TEXT NOT NULL,
    size       INTEGER,
    source     TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (repository, path, source)
  ) WITHOUT ROWID;

  CREATE TABLE derived (
    repository TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository, kind, subject, key_id)
  ) WITHOUT ROWID;
  CREATE INDEX derived_sha256 ON derived (sha256);

  CREATE TABLE signature_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    repository TEXT NOT NULL,
    object     TEXT NOT NULL,
    subject_sha256 TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    signature_sha256 TEXT NOT NULL,
    at         INTEGER NOT NULL
  );

  CREATE TABLE signature_cache (
    key_id     TEXT NOT NULL,
    message_sha256 TEXT NOT NULL,
    signature  BLOB NOT NULL,
    PRIMARY KEY (key_id, message_sha256)
  ) WITHOUT ROWID;
  `,
  // 2: trust epochs on expectations (an expectation holds only under the trust it was recorded
  // with), whether the vouching index verified, and the material pinned on first use.
  `
  ALTER TABLE expectations ADD COLUMN epoch TEXT;
  ALTER TABLE expectations ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE derived ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;

  CREATE TABLE trust_pins (
    repository TEXT NOT NULL,
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    pinned_at  INTEGER NOT NULL,
    PRIMARY KEY (repository, name)
  ) WITHOUT ROWID;
  `,
  // 3: an index's new revision replaces everything its previous one vouched for (found by source);
  // objects a client names with parameters it chooses are trimmed per group (found by path prefix
  // and age).
  `
  CREATE INDEX expectations_source ON expectations (repository, source);
  CREATE INDEX objects_checked ON objects (repository, checked_at);
  `,
  // 4: how many times the operator accepted changed first-use material (the trust epoch counts
  // acceptances, not pins: a new pin vouches for one new thing and changes nothing verified before).
  `
  CREATE TABLE trust_generations (
    repository TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];
