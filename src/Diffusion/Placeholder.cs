namespace Farm.Diffusion;
