#!/usr/bin/python3
"""PyTorch reference for bench/conv_step.cc: the same workloads, float32, same method
(2 warm-up runs, median of 7 rounds of 3). Run with Debian's python3-torch:

    /usr/bin/python3 bench/conv_step_torch.py [--threads=N]
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads = 2
for a in sys.argv[1:]:
    if a.startswith("--threads="):
        threads = int(a.split("=")[1])
torch.set_num_threads(threads)
torch.manual_seed(1)
x = torch.randn(64, 1, 28, 28)
y = torch.randint(0, 10, (64,))
conv1, conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
fc1, fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)
params = [p for m in (conv1, conv2, fc1, fc2) for p in m.parameters()]


def zero():
    for p in params:
        p.grad = None


def convs():
    zero()
    h = F.relu(conv2(F.relu(conv1(x))))
    h.sum().backward()


def net():
    zero()
    h = F.relu(conv2(F.relu(conv1(x))))
    h = torch.flatten(F.max_pool2d(h, 2), 1)
    h = fc2(F.relu(fc1(h)))
    F.nll_loss(F.log_softmax(h, 1), y).backward()


def forward_only():
    with torch.no_grad():
        F.relu(conv2(F.relu(conv1(x))))


def time_ms(fn, rounds=7, per_round=3):
    for _ in range(2):
        fn()
    t = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        t.append((time.perf_counter() - t0) * 1000 / per_round)
    return statistics.median(t)


print("torch %s conv_step batch 64, 1->32->64 3x3 (%d threads, median of 7 rounds of 3):" % (torch.__version__, threads))
print("  two convs + ReLU forward only:        %8.2f ms" % time_ms(forward_only))
print("  two convs + ReLU forward + backward:  %8.2f ms" % time_ms(convs))
print("  MNIST Net forward + backward:         %8.2f ms" % time_ms(net))
