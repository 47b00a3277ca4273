# The fixed e2e recipe with activation recomputation (less memory, more time per step).
_base_ = ['./e2e_8x8.py', '../_base_/runtime/low_memory.py']
