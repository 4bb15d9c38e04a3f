-- The macros of _macros.sql that Spark computes by another technique, expanded in place of
-- DuckDB's by the compiler (rules/compile.py); every other macro is shared. DuckDB packs a
-- row's ranking keys into one unsigned 128-bit integer so that min() and max() compare plain
-- integers; Spark has no unsigned or 128-bit integers, so the same keys are structs of the same
-- fields in the same order, which compare field by field as the packed bits do (no field is
-- ever NULL: tiers, file ids, row numbers and snapshot times are always set).

-- a row by its tier, file and row (record_key): the struct sorts as the packed integer
create or replace temp macro record_key(tier, file_id, row_number) as
    {tier: tier, file_id: file_id, row_number: row_number};
-- the same key sorting the other way round: min() of it is the last row of the best tier
create or replace temp macro record_key_reversed(key) as
    {tier: -key.tier, file_id: -key.file_id, row_number: -key.row_number};
create or replace temp macro record_key_tier(key) as key.tier;
create or replace temp macro record_tier_row(tier, row_number) as
    {tier: tier, row_number: row_number};

-- where a contact row was seen, sorting as (snapshot_at, file_id, row_number) (seen_key)
create or replace temp macro seen_key(snapshot_at, file_id, row_number) as
    {seen_at: snapshot_at, file_id: file_id, row_number: row_number};
create or replace temp macro seen_at(key) as key.seen_at;
create or replace temp macro seen_file_id(key) as key.file_id;
create or replace temp macro seen_row_number(key) as key.row_number;
