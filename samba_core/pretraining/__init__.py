"""Self-supervised pretraining of SAMBA (``samba-pretrain``).

Modules, in the order data flows through them:

- :mod:`~samba_core.pretraining.corpus`: a corpus spec read, placed and preprocessed into a folder;
- :mod:`~samba_core.pretraining.config`: crop and optimisation settings, the learning-rate schedule;
- :mod:`~samba_core.pretraining.batches`: random long-context crops, batched across montages;
- :mod:`~samba_core.pretraining.objective`: the TSRM masked-reconstruction losses and one update step;
- :mod:`~samba_core.pretraining.graph`: that step replayed as one CUDA graph;
- :mod:`~samba_core.pretraining.trainer`: the run (one device or DDP) and its summary;
- :mod:`~samba_core.pretraining.run_folder`: the run folder's state file and logs;
- :mod:`~samba_core.pretraining.export`: the trained network as a SAMBA-Live checkpoint;
- :mod:`~samba_core.pretraining.cli`: the ``samba-pretrain`` command line.
"""
