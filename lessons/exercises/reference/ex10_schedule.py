"""Lesson 10, exercise 1 (reference answer): linear warm-up, then cosine decay to a floor."""
import math


def warmup_cosine(step, total_steps, peak_lr, warmup_steps=0, min_lr=0.0):
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr + (peak_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
