-- helpers_drop.sql: removes what helpers.sql created.
DROP FUNCTION scan_counters(text, text);
DROP FUNCTION revacuum(regclass[]);
DROP PROCEDURE evict(regclass);
DROP TABLESPACE regress_asyncscan_evict;
