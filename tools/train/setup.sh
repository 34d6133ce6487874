#!/bin/sh
# Installs what tools/train needs on Debian 12: PyTorch 1.13 from Debian and
# the pthread OpenBLAS (without it torch falls back to the reference BLAS and
# runs about 100x slower). Run as root. Use /usr/bin/python3 afterwards: a
# pyenv or virtualenv python does not see Debian's python3-torch.
set -e
apt-get install -y python3-torch libopenblas0-pthread
/usr/bin/python3 -c "import torch; print('torch', torch.__version__)"
