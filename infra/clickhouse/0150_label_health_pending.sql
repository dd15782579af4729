-- Labels not joined yet but first seen less than the model's join_grace ago: their prediction
-- may still be on its way (a lagging predictions consumer, a label sent within seconds of its
-- prediction). The join rate is judged on the others only (joined / (received - pending)), so a
-- snapshot taken while the predictions topic lags behind the labels topic is not read as a
-- broken label feed. (ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: migrate.ts skips an
-- ADD COLUMN whose column is already there, which makes a rerun after an interruption safe.)
ALTER TABLE {{db}}.label_health ADD COLUMN labels_pending UInt64 DEFAULT 0 AFTER labels_orphaned;
