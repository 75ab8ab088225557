fn main() { ferret_engine::hello(); }
