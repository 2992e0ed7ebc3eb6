"""Self-supervised pretraining of SAMBA (``samba-pretrain``): corpus preparation, crop batches,
the masked-reconstruction trainer (one or many GPUs), CUDA-graph replay and checkpoint export."""
