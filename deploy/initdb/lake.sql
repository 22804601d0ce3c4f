-- the DuckLake catalog's database, beside Dagster's own
create database lake owner dagster;
