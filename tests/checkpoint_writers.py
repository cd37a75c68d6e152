"""Write StyleGAN2 checkpoints in the real file formats, for tests.

- NVIDIA network pickles: the layout of `torch_utils.persistence` (each network
  object pickled as `_reconstruct_persistent_obj(meta)` with its `__dict__` as
  `state`), produced with stand-in `torch_utils`/`dnnlib` modules registered
  under the real names, so the pickle stream names the same globals as NVIDIA's.
- rosinality checkpoints: `torch.save({'g_ema': ..., 'latent_avg': ...})`, and the
  training-checkpoint variant with `args` (argparse.Namespace) and no latent_avg.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from core.stylegan.networks import Generator, GeneratorConfig


def _install_fake_nvidia_modules() -> types.ModuleType:
    if "torch_utils.persistence" in sys.modules:
        return sys.modules["torch_utils.persistence"]
    torch_utils = types.ModuleType("torch_utils")
    persistence = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):  # never called by SemEdit; only named in the pickle
        raise AssertionError("the test stand-in must not be called")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    torch_utils.persistence = persistence
    dnnlib = types.ModuleType("dnnlib")
    util = types.ModuleType("dnnlib.util")

    class EasyDict(dict):
        pass

    EasyDict.__module__ = "dnnlib.util"
    EasyDict.__qualname__ = "EasyDict"
    util.EasyDict = EasyDict
    dnnlib.util = util
    sys.modules.update({"torch_utils": torch_utils, "torch_utils.persistence": persistence,
                        "dnnlib": dnnlib, "dnnlib.util": util})
    return persistence


class _Persistent:
    """Pickles as NVIDIA's persistent objects do: one reconstruct call with a meta dict."""

    def __init__(self, class_name: str, state: dict, module_src: str = "# source omitted"):
        self.meta = dict(type="class", version=6, module_src=module_src,
                         class_name=class_name, state=state)

    def __reduce__(self):
        persistence = _install_fake_nvidia_modules()
        return persistence._reconstruct_persistent_obj, (self.meta,)


_CLASS_NAMES = {
    "Generator": "Generator", "MappingNetwork": "MappingNetwork",
    "FullyConnected": "FullyConnectedLayer", "SynthesisNetwork": "SynthesisNetwork",
    "SynthesisBlock": "SynthesisBlock", "SynthesisLayer": "SynthesisLayer",
    "ToRGBLayer": "ToRGBLayer",
}


def _module_state(module: torch.nn.Module, attrs: dict, module_src: str) -> _Persistent:
    state = {
        "training": False,
        "_parameters": OrderedDict((k, torch.nn.Parameter(v.detach().clone(),
                                                          requires_grad=False))
                                   for k, v in module._parameters.items()),
        "_buffers": OrderedDict((k, v.detach().clone()) for k, v in module._buffers.items()),
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": OrderedDict(),
        "_forward_hooks": OrderedDict(),
        "_forward_pre_hooks": OrderedDict(),
        "_state_dict_hooks": OrderedDict(),
        "_load_state_dict_pre_hooks": OrderedDict(),
        "_modules": OrderedDict(),
    }
    state.update(attrs)
    for name, child in module._modules.items():
        state["_modules"][name] = _module_state(child, _attrs_of(child), module_src)
    return _Persistent(_CLASS_NAMES[type(module).__name__], state, module_src)


def _attrs_of(module: torch.nn.Module) -> dict:
    """The plain attributes NVIDIA's constructors set, as far as the loader reads them."""
    name = type(module).__name__
    if name == "FullyConnected":
        return {"activation": "lrelu" if module.lrelu else "linear",
                "weight_gain": np.float64(module.weight_gain), "bias_gain": module.bias_gain}
    if name == "SynthesisLayer":
        return {"resolution": module.resolution, "up": 2 if module.up else 1, "use_noise": True,
                "activation": "lrelu", "conv_clamp": module.conv_clamp, "padding": 1,
                "act_gain": np.float64(math.sqrt(2))}
    if name == "ToRGBLayer":
        return {"conv_clamp": module.conv_clamp, "weight_gain": np.float64(module.weight_gain)}
    if name == "SynthesisBlock":
        return {"resolution": module.resolution, "architecture": "skip",
                "use_fp16": module.use_fp16, "is_last": False, "num_conv": 2, "num_torgb": 1}
    return {}


def nvidia_pickle_bytes(generator: Generator, *, module_src: str = "# source omitted",
                        protocol: int = 4, extra: dict | None = None) -> bytes:
    _install_fake_nvidia_modules()
    cfg = generator.config
    easy = sys.modules["dnnlib.util"].EasyDict
    init_kwargs = easy(z_dim=cfg.z_dim, w_dim=cfg.w_dim, c_dim=0,
                       img_resolution=cfg.img_resolution, img_channels=cfg.img_channels,
                       mapping_kwargs=easy(num_layers=cfg.mapping_layers),
                       synthesis_kwargs=easy(conv_clamp=cfg.conv_clamp))
    attrs = {"z_dim": cfg.z_dim, "c_dim": 0, "w_dim": cfg.w_dim, "num_ws": cfg.num_ws,
             "img_resolution": cfg.img_resolution, "img_channels": cfg.img_channels,
             "_init_args": (), "_init_kwargs": init_kwargs}
    net = _module_state(generator, attrs, module_src)
    data = dict(training_set_kwargs=None, G=net, D=None, G_ema=net, augment_pipe=None)
    data.update(extra or {})
    return pickle.dumps(data, protocol=protocol)


def write_nvidia_pickle(generator: Generator, path: Path, **kwargs) -> Path:
    path.write_bytes(nvidia_pickle_bytes(generator, **kwargs))
    return path


def nvidia_to_rosinality(state: dict[str, torch.Tensor], num_mapping: int) -> dict:
    """Inverse of the loader's renaming, written out independently for the tests."""
    out: dict[str, torch.Tensor] = {}
    for i in range(num_mapping):
        out[f"style.{i + 1}.weight"] = state[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = state[f"mapping.fc{i}.bias"]
    res = sorted(int(k.split(".")[1][1:]) for k in state if k.endswith(".torgb.bias"))
    out["input.input"] = state["synthesis.b4.const"][None]
    convs = [("conv1", "synthesis.b4.conv1", False)]
    rgbs = [("to_rgb1", "synthesis.b4.torgb")]
    for k, r in enumerate(res[1:]):
        convs += [(f"convs.{2 * k}", f"synthesis.b{r}.conv0", True),
                  (f"convs.{2 * k + 1}", f"synthesis.b{r}.conv1", False)]
        rgbs.append((f"to_rgbs.{k}", f"synthesis.b{r}.torgb"))
    blur = torch.tensor([1.0, 3, 3, 1])
    blur = blur[:, None] * blur[None] / 64 * 4
    for n, (dst, src, up) in enumerate(convs):
        out[f"{dst}.conv.weight"] = state[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = state[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = state[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = state[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = state[f"{src}.bias"]
        out[f"noises.noise_{n}"] = state[f"{src}.noise_const"][None, None]
        if up:
            out[f"{dst}.conv.blur.kernel"] = blur
    for k, (dst, src) in enumerate(rgbs):
        out[f"{dst}.conv.weight"] = state[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = state[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = state[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = state[f"{src}.bias"].reshape(1, -1, 1, 1)
        if k > 0:
            out[f"{dst}.upsample.kernel"] = blur
    return {k: v.detach().clone() for k, v in out.items()}


def write_rosinality(generator: Generator, path: Path, *, training: bool = False) -> Path:
    g_ema = nvidia_to_rosinality(generator.state_dict(), generator.config.mapping_layers)
    if training:
        args = argparse.Namespace(size=generator.img_resolution,
                                  n_mlp=generator.config.mapping_layers,
                                  latent=generator.w_dim, channel_multiplier=2, lr=0.002)
        data = {"g": g_ema, "d": {"convs.0.0.weight": torch.zeros(1)}, "g_ema": g_ema,
                "g_optim": {"state": {}, "param_groups": []},
                "d_optim": {"state": {}, "param_groups": []}, "args": args, "ada_aug_p": 0.0}
    else:
        data = {"g_ema": g_ema, "latent_avg": generator.w_avg.detach().clone()}
    torch.save(data, path)
    return path


def random_generator(resolution: int = 16, *, w_dim: int = 32, channel: int = 16,
                     mapping_layers: int = 2, conv_clamp: float | None = 256.0,
                     seed: int = 0) -> Generator:
    """A small generator whose every tensor, buffers and biases included, is random."""
    channels = {4 * 2**i: max(channel // 2**i, 4)
                for i in range(int(math.log2(resolution)) - 1)}
    cfg = GeneratorConfig(z_dim=w_dim, w_dim=w_dim, img_resolution=resolution,
                          channels=channels, mapping_layers=mapping_layers,
                          conv_clamp=conv_clamp, fp16_resolutions=frozenset({resolution}))
    torch.manual_seed(seed)
    g = Generator(cfg)
    with torch.no_grad():
        for name, t in list(g.named_parameters()) + list(g.named_buffers()):
            if name.endswith("resample_filter"):
                continue
            t.copy_(torch.randn_like(t) * (0.1 if name.endswith("noise_strength") else 1.0))
            if name.endswith("affine.bias"):
                t.add_(1.0)
        for block in g.synthesis.blocks():
            block.torgb.weight.mul_(0.4)
    return g.eval().requires_grad_(False)
