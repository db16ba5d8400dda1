namespace Farm.Diffusion.Tests;
