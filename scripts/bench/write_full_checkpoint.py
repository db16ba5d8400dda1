"""Writes a full-size, random-weight Stable Diffusion checkpoint in the original single-file layout, as people download
it (SD 1.5: CompVis/LDM keys, like v1-5-pruned-emaonly.safetensors; SDXL: SGM keys, like sd_xl_base_1.0.safetensors),
stored in fp16. The keys come from diffusers' own conversion scripts, so the file is what diffusers would write.

    python3 write_full_checkpoint.py sd15|sdxl OUT.safetensors --scripts DIR

DIR holds diffusers' scripts/convert_diffusers_to_original_{stable_diffusion,sdxl}.py. Runs under the diffusers
reference environment (../shared/bench/diffusers-reference). One component at a time, cast to fp16 as soon as it is
built, so SDXL needs about 12 GB.
"""
import argparse
import importlib.util
import os
import sys

import torch
from safetensors.torch import save_file
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

# The reference repositories' config.json values (runwayml/stable-diffusion-v1-5, stabilityai/stable-diffusion-xl-base-1.0).
CLIP_L = dict(hidden_act="quick_gelu", hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12, projection_dim=768)
CLIP_BIG_G = dict(hidden_act="gelu", hidden_size=1280, intermediate_size=5120, num_attention_heads=20, num_hidden_layers=32, projection_dim=1280)
VAE = dict(block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
           latent_channels=4, layers_per_block=2, norm_num_groups=32)
UNET_SD15 = dict(attention_head_dim=8, block_out_channels=[320, 640, 1280, 1280], cross_attention_dim=768,
                 down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"], up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
                 layers_per_block=2, sample_size=64)
UNET_SDXL = dict(addition_embed_type="text_time", addition_time_embed_dim=256, attention_head_dim=[5, 10, 20], block_out_channels=[320, 640, 1280],
                 cross_attention_dim=2048, down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                 up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], layers_per_block=2,
                 projection_class_embeddings_input_dim=2816, sample_size=128, transformer_layers_per_block=[1, 2, 10], use_linear_projection=True)


def load_script(folder, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def half_state(model):
    model.half()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    del model
    return state


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("family", choices=["sd15", "sdxl"])
    parser.add_argument("out")
    parser.add_argument("--scripts", required=True, help="folder with diffusers' convert_diffusers_to_original_*.py")
    args = parser.parse_args()
    torch.manual_seed(0)
    xl = args.family == "sdxl"
    convert = load_script(args.scripts, "convert_diffusers_to_original_sdxl" if xl else "convert_diffusers_to_original_stable_diffusion")
    state = {}

    def add(prefix, converted):
        state.update({prefix + k: v for k, v in converted.items()})

    add("model.diffusion_model.", convert.convert_unet_state_dict(half_state(UNet2DConditionModel(**(UNET_SDXL if xl else UNET_SD15)))))
    add("first_stage_model.", convert.convert_vae_state_dict(half_state(AutoencoderKL(**VAE, scaling_factor=0.13025 if xl else 0.18215))))
    text = half_state(CLIPTextModel(CLIPTextConfig(**CLIP_L)))
    if not xl:
        add("cond_stage_model.transformer.", convert.convert_text_enc_state_dict(text))
    else:
        add("conditioner.embedders.0.transformer.", convert.convert_openai_text_enc_state_dict(text))
        text2 = convert.convert_openclip_text_enc_state_dict(half_state(CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_BIG_G))))
        # As diffusers' script does: the original layout stores the projection as a [width, proj] matrix.
        text2["text_projection"] = text2.pop("text_projection.weight").T.contiguous()
        add("conditioner.embedders.1.model.", text2)
    state = {k: v.contiguous() for k, v in state.items()}
    save_file(state, args.out)
    params = sum(v.numel() for v in state.values())
    print(f"wrote {args.out}: {len(state)} tensors, {params / 1e9:.3f} B parameters, {os.path.getsize(args.out) / 2**30:.2f} GiB", file=sys.stderr)


if __name__ == "__main__":
    main()
