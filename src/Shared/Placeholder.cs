namespace Farm.Shared;
