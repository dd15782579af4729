-- A classification window's confusion matrix as its non-zero cells: `confusion_cells[i]` is
-- truth index × number of classes + predicted index (indices from 0 in the order of `classes`),
-- `confusion_counts[i]` its count. `confusion` keeps the full matrix only for models of at most
-- 100 classes: 3,000 classes made k² = 9,000,000 numbers per row.
ALTER TABLE {{db}}.window_summary ADD COLUMN confusion_cells Array(UInt32) AFTER confusion;
ALTER TABLE {{db}}.window_summary ADD COLUMN confusion_counts Array(UInt64) AFTER confusion_cells;
