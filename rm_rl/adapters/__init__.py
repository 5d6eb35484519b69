"""Adapters that plug rm_rl's rewards into RL frameworks, each with the signature it expects.

- :mod:`rm_rl.adapters.trl`: ``GRPOTrainer(reward_funcs=[...])``, sync rewards as they are,
  plus an async wrapper and an async client of the reward server.
- :mod:`rm_rl.adapters.verl`: ``compute_score(data_source, solution_str, ground_truth,
  extra_info)`` and the batched ``compute_score_batch``.
- :mod:`rm_rl.adapters.openrlhf`: the ``--remote_rm_url reward.py`` file form,
  ``reward_func(queries, prompts, labels)``; the HTTP form is ``acecoder serve``.

Each module imports its framework lazily (or not at all), so importing an adapter
never pulls in torch.
"""
