"""The HTML report a manager reads at a glance (`facemask report`, `--report`): timelines, violations, totals."""
