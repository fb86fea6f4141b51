"""Zero-phase Butterworth filters with cached designs, and block-mean decimation.

Designing a filter and its initial state costs more than running it over one
chunk (and the initial-state solve wakes the BLAS thread pool), so both are
computed once per (order, band, rate) and cached.

No scipy.signal import: importing it costs ~1 s of CPU and ~70 MB (it pulls in
scipy.stats) at every start. The Butterworth design and its initial state are
computed here in numpy with scipy's formulas in scipy's order (tests check them
equal to ``scipy.signal.butter`` / ``sosfilt_zi``), and the filtering itself is
scipy's compiled second-order-section kernel, loaded on its own
(``_sosfilt_kernel``); if that ever fails the public ``scipy.signal`` provides it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def _sosfilt_kernel() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """scipy's ``_sosfilt(sos, x (signals, n), zi (signals, sections, 2))``, in place."""
    name = "scipy.signal._sosfilt"
    module = sys.modules.get(name)
    if module is None:
        try:
            import scipy

            folder = Path(scipy.__file__).parent / "signal"
            path = next(folder / f"_sosfilt{suffix}"
                        for suffix in importlib.machinery.EXTENSION_SUFFIXES
                        if (folder / f"_sosfilt{suffix}").exists())
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module  # scipy.signal, if imported later, uses this one
        except (ImportError, StopIteration, AttributeError, OSError):
            from scipy.signal import _sosfilt as module  # the slow way, same kernel
    return module._sosfilt


def load_filter_kernel() -> None:
    """Load the compiled filter kernel now rather than at the first filtering (before
    worker processes are forked, so that they start with it)."""
    _sosfilt_kernel()


def butter_sos(order: int, cutoff_hz: float | tuple[float, float], btype: str,
               fs_hz: float) -> np.ndarray:
    """Digital Butterworth low-pass or band-pass as second-order sections (even analog
    order: the cases used here), as ``scipy.signal.butter(..., output="sos")``."""
    wn = np.asarray(cutoff_hz, dtype=np.float64) / (fs_hz / 2)
    m = np.arange(-order + 1, order, 2, dtype=np.float64)
    p = -np.exp(1j * np.pi * m / (2 * order))
    z = np.zeros(0)
    k = 1.0
    warped = 2 * 2.0 * np.tan(np.pi * wn / 2.0)
    if btype == "lowpass":
        wo = float(warped)
        z, p, k = wo * z, wo * p, k * wo ** len(p)
    elif btype == "bandpass":
        bw, wo = float(warped[1] - warped[0]), float(np.sqrt(warped[0] * warped[1]))
        degree = len(p) - len(z)
        z_lp = (z * bw / 2).astype(np.complex128)
        p_lp = (p * bw / 2).astype(np.complex128)
        z = np.concatenate((z_lp + np.sqrt(z_lp**2 - wo**2), z_lp - np.sqrt(z_lp**2 - wo**2),
                            np.zeros(degree)))
        p = np.concatenate((p_lp + np.sqrt(p_lp**2 - wo**2), p_lp - np.sqrt(p_lp**2 - wo**2)))
        k = k * bw**degree
    else:
        raise ValueError(f"unsupported filter type {btype!r}")
    fs2 = 4.0  # bilinear transform at fs = 2
    degree = len(p) - len(z)
    z_z = np.concatenate(((fs2 + z) / (fs2 - z), -np.ones(degree)))
    p_z = (fs2 + p) / (fs2 - p)
    k = float(np.real(np.prod(fs2 - z) / np.prod(fs2 - p)) * k)
    return _pair_sections(z_z, p_z, k)


def _pair_sections(z: np.ndarray, p: np.ndarray, k: float) -> np.ndarray:
    """scipy's "nearest" pairing for real zeros and complex-conjugate poles: the pole pair
    nearest the unit circle, with its two nearest zeros, goes last; the gain goes first."""
    zeros = np.real(z)
    if np.any(np.imag(z) != 0):
        raise ValueError("complex zeros are not supported")
    upper = p[np.imag(p) > 0]
    lower = p[np.imag(p) < 0]
    if len(upper) * 2 != len(p):
        raise ValueError("real poles are not supported (odd order)")
    lower = lower[np.argsort(lower.real, kind="stable")]
    upper = upper[np.argsort(upper.real, kind="stable")]
    poles = (upper + lower.conj()) / 2  # as scipy averages each conjugate pair
    n_sections = len(poles)
    sos = np.zeros((n_sections, 6))
    for si in range(n_sections - 1, -1, -1):
        i = int(np.argmin(np.abs(1 - np.abs(poles))))
        p1 = poles[i]
        poles = np.delete(poles, i)
        order = np.argsort(np.abs(zeros - p1))
        z1 = zeros[order[0]]
        zeros = np.delete(zeros, order[0])
        z2 = zeros[np.argsort(np.abs(zeros - p1))[0]]
        zeros = np.delete(zeros, np.argsort(np.abs(zeros - p1))[0])
        sos[si, :3] = np.poly([z1, z2])
        sos[si, 3:] = np.poly([p1, p1.conj()]).real
    sos[0, :3] *= k
    return sos


def sos_initial_state(sos: np.ndarray) -> np.ndarray:
    """Steady-state initial conditions for a unit step, as ``scipy.signal.sosfilt_zi``."""
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for section in range(len(sos)):
        b, a = sos[section, :3], sos[section, 3:]
        if a[0] != 1.0:
            b, a = b / a[0], a / a[0]
        companion = np.zeros((2, 2))
        companion[0] = -a[1:] / (1.0 * a[0])
        companion[1, 0] = 1
        i_minus_a = np.eye(2) - companion.T
        zi[section] = scale * np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])
        scale *= b.sum() / a.sum()
    return zi


@lru_cache(maxsize=64)
def _design(
    order: int, cutoff_hz: float | tuple[float, float], btype: str, fs_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    sos = butter_sos(order, cutoff_hz, btype, fs_hz)
    return sos, sos_initial_state(sos)


def _filtfilt(design: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Forward-backward filtering along axis 0 with odd extension (as scipy's sosfiltfilt)."""
    sos, zi = design
    x = np.asarray(x, dtype=float)
    lines = x[None, :] if x.ndim == 1 else x.T  # (signals, n): the kernel's layout
    n = lines.shape[1]
    pad = min(3 * (2 * len(sos) + 1), n - 1)
    ext = np.empty((lines.shape[0], n + 2 * max(pad, 0)))
    if pad > 0:
        ext[:, :pad] = 2 * lines[:, :1] - lines[:, pad:0:-1]
        ext[:, pad : pad + n] = lines
        ext[:, pad + n :] = 2 * lines[:, -1:] - lines[:, -2 : -pad - 2 : -1]
    else:
        pad = 0
        ext[:] = lines
    kernel = _sosfilt_kernel()
    kernel(sos, ext, zi[None, :, :] * ext[:, :1, None])
    back = ext[:, ::-1].copy()
    kernel(sos, back, zi[None, :, :] * back[:, :1, None])
    y = back[:, ::-1][:, pad : pad + n]
    return y[0] if x.ndim == 1 else y.T


def lowpass(x: np.ndarray, fs_hz: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase low-pass along axis 0."""
    return _filtfilt(_design(order, float(cutoff_hz), "lowpass", float(fs_hz)), x)


def bandpass(
    x: np.ndarray, fs_hz: float, low_hz: float, high_hz: float, order: int = 2
) -> np.ndarray:
    """Zero-phase band-pass along axis 0; the upper edge is kept below Nyquist."""
    band = (float(low_hz), float(min(high_hz, 0.45 * fs_hz)))
    return _filtfilt(_design(order, band, "bandpass", float(fs_hz)), x)


def block_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Means of consecutive blocks of ``k`` samples along axis 0 (a cheap decimation).

    The last, partial block is averaged over what it has. Slow statistics
    (gravity, stride-band sway) are computed on this to save time.
    """
    if k <= 1:
        return np.asarray(x, dtype=float)
    n = len(x)
    full = (n // k) * k
    blocks = x[:full].reshape((n // k, k) + x.shape[1:])
    if x.ndim == 2:
        # numpy's mean over the middle axis adds the k samples of each block in order, one
        # sample at a time: the same sums (to the bit), without its slow short inner loop
        head = blocks[:, 0].astype(np.float64, copy=True)
        for i in range(1, k):
            head += blocks[:, i]
        head /= k
    else:
        head = blocks.mean(axis=1)  # (pairwise sums along a contiguous axis: kept as is)
    if full == n:
        return head
    return np.concatenate([head, x[full:].mean(axis=0, keepdims=True)])
