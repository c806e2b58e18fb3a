select 1 as score
