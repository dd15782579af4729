-- Regression windows: the mean of the errors' fourth powers. The RMSE's standard error comes
-- from it (delta method on the mean squared error), which holds for heavy-tailed errors where
-- rmse / sqrt(2n) (normal errors only) covers the truth far less often than it says.
ALTER TABLE {{db}}.window_summary ADD COLUMN error_fourth_moment Nullable(Float64) AFTER bias;
