// Test worker: spawned by heap.spawn, it never attaches and ends at once, so its slot is
// freed only through the death watch its spawner set up.
export {};
