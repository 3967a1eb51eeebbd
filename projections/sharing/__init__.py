"""The sharing side: the distributor that puts the shared log onto ``SHARE`` for partners."""
