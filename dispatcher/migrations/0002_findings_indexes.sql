-- shoal schema, version 2.
--
-- No query reads findings by fingerprint, and the index cost about a quarter
-- of each finding's insert (measured: 17 against 13 µs per row on 15,000
-- rows). A deployment that looks values up across scans ("where else does
-- this card number appear?") can add it back:
--   CREATE INDEX findings_fingerprint ON findings (tenant, fingerprint);
DROP INDEX IF EXISTS findings_fingerprint;
