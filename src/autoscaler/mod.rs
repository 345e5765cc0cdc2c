//! The autoscaler. Done so far: the health sweep ([`health`]), the foundation of DeadOrAlive.
//! Not yet: PerformScaling/BuildWebserver, the DNS round robin and the cloud server operations
//! (see the issue notes); nothing here builds, destroys or changes DNS.

pub mod health;
