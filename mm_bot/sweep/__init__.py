"""``mm-bot sweep``: one ``mm-bot backtest`` per (config point, data file), as Ray tasks.

``grid`` turns ``--grid`` / ``--samples`` into points (pure); ``points`` loads each as a config and
proves it with ``verify`` before anything is scheduled; ``task`` is the one backtest a task runs;
``driver`` runs the tasks on a local or joined Ray (the only module that imports Ray); ``store``
streams the results to ``--out`` and knows what ``--resume`` skips; ``rank`` makes the ranked table
and the best point's config; ``report`` + ``heatmap`` the HTML page. ``mm_bot/sweep_cli.py`` is the
command.
"""
