namespace Farm.Coordinator;
