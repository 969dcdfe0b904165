//! c10d through the bridge: collectives between threads (in-process store and a real
#![allow(clippy::unwrap_used)]
//! TCPStore on 127.0.0.1), bucketed gradient averaging, and timeouts as errors.

use std::time::{Duration, Instant};

use kinema_torch::dist::{
    all_reduce_mean_bucketed, DistBackend, ProcessGroup, ProcessGroupOptions, ReduceOp, Watchdog,
};
use tch::{Device, Kind, Tensor};

fn opts(rank: usize, world_size: usize, port: u16, timeout_ms: u64) -> ProcessGroupOptions {
    ProcessGroupOptions {
        backend: DistBackend::Gloo,
        master_addr: "127.0.0.1".into(),
        master_port: port,
        rank,
        world_size,
        timeout: Duration::from_millis(timeout_ms),
        connect_timeout: Duration::from_millis(timeout_ms),
    }
}

/// Runs `f(rank, group)` on `world` threads and returns their results in rank order.
fn on_threads<T: Send + 'static>(
    world: usize,
    make: impl Fn(usize) -> ProcessGroup + Send + Sync + Clone + 'static,
    f: impl Fn(usize, &ProcessGroup) -> T + Send + Sync + Clone + 'static,
) -> Vec<T> {
    let handles: Vec<_> = (0..world)
        .map(|rank| {
            let make = make.clone();
            let f = f.clone();
            std::thread::spawn(move || {
                let pg = make(rank);
                f(rank, &pg)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("thread")).collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn all_reduce_broadcast_gather_between_threads() {
    let make = |rank| ProcessGroup::new_in_process(&opts(rank, 2, 41001, 20_000)).unwrap();
    let out = on_threads(2, make, |rank, pg| {
        let t = Tensor::from_slice(&[1.0f32 + rank as f32, 10.0]);
        pg.all_reduce(&[&t], ReduceOp::Sum).unwrap();
        let m = Tensor::from_slice(&[2.0f32 * rank as f32]);
        pg.all_reduce_mean(&[&m]).unwrap();
        let b = Tensor::from_slice(&[rank as i64 + 7]);
        pg.broadcast(&[&b], 1).unwrap();
        let g = pg.all_gather(&Tensor::from_slice(&[rank as f32; 3])).unwrap();
        let u = pg.all_gather_uneven(&Tensor::ones([rank as i64 + 1, 2], (Kind::Float, Device::Cpu))).unwrap();
        pg.barrier().unwrap();
        (
            Vec::<f32>::try_from(&t).unwrap(),
            m.double_value(&[0]),
            b.int64_value(&[0]),
            g.iter().map(|x| Vec::<f32>::try_from(x).unwrap()).collect::<Vec<_>>(),
            u.iter().map(|x| x.size()).collect::<Vec<_>>(),
        )
    });
    for (t, m, b, g, u) in out {
        assert_eq!(t, vec![3.0, 20.0]);
        assert_eq!(m, 1.0);
        assert_eq!(b, 8);
        assert_eq!(g, vec![vec![0.0; 3], vec![1.0; 3]]);
        assert_eq!(u, vec![vec![1, 2], vec![2, 2]]);
    }
}

#[test]
fn tcp_store_rendezvous_and_bucketed_mean() {
    let port = free_port();
    let make = move |rank| ProcessGroup::new(&opts(rank, 2, port, 30_000)).unwrap();
    let out = on_threads(2, make, |rank, pg| {
        let grads: Vec<Tensor> = vec![
            Tensor::full([3, 2], rank as f64, (Kind::Float, Device::Cpu)),
            Tensor::full([5], 10.0 * rank as f64, (Kind::Float, Device::Cpu)),
            Tensor::full([2], rank as f64, (Kind::Double, Device::Cpu)),
        ];
        // 16-byte buckets: several collectives, one per dtype change at least.
        all_reduce_mean_bucketed(pg, &grads, 16).unwrap();
        grads.iter().map(|g| g.sum(Kind::Double).double_value(&[])).collect::<Vec<_>>()
    });
    for sums in out {
        assert_eq!(sums, vec![3.0, 25.0, 1.0]);
    }
}

#[test]
fn missing_peer_times_out_with_an_error() {
    let start = Instant::now();
    let err = ProcessGroup::new_in_process(&opts(0, 2, 41002, 1500)).err().expect("no peer: must fail");
    let msg = err.to_string();
    assert!(msg.starts_with("rank 0/2: cannot join the gloo process group at 127.0.0.1:41002: "), "{msg}");
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
}

#[test]
fn bad_backend_and_rank_are_rejected() {
    assert!(DistBackend::choose(Some("mpi"), Device::Cpu)
        .unwrap_err()
        .to_string()
        .contains("expected \"gloo\" or \"nccl\""));
    assert_eq!(DistBackend::choose(None, Device::Cpu).unwrap(), DistBackend::Gloo);
    let err = ProcessGroup::new_in_process(&opts(2, 2, 41003, 100)).err().unwrap().to_string();
    assert!(err.ends_with("rank must be below the world size"), "{err}");
}

#[test]
fn a_dead_rank_is_named_by_the_survivor() {
    let port = free_port();
    let survivor = std::thread::spawn(move || {
        let pg = ProcessGroup::new(&opts(0, 2, port, 4_000)).unwrap();
        let _beat = pg.start_heartbeat(Duration::from_millis(200), None).unwrap();
        pg.barrier().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let t = Tensor::from_slice(&[1.0f32]);
        let start = Instant::now();
        let err = pg.all_reduce(&[&t], ReduceOp::Sum).unwrap_err().to_string();
        (err, start.elapsed())
    });
    {
        let pg = ProcessGroup::new(&opts(1, 2, port, 4_000)).unwrap();
        let _beat = pg.start_heartbeat(Duration::from_millis(200), None).unwrap();
        pg.barrier().unwrap();
        // rank 1 "dies": it leaves without taking part in the all-reduce
    }
    let (err, took) = survivor.join().unwrap();
    assert!(err.starts_with("rank 0/2: all_reduce failed: "), "{err}");
    assert!(err.contains("stopped responding: rank 1 (last heartbeat"), "{err}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// A rank that stays alive but silent (SIGSTOP, a hung machine): the other rank's
/// watchdog names it after `silent_after`, while it waits in a collective that would
/// otherwise wait for the whole timeout.
#[test]
fn a_silent_rank_is_reported_by_the_watchdog() {
    let port = free_port();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let survivor = std::thread::spawn(move || {
        let pg = ProcessGroup::new(&opts(0, 2, port, 60_000)).unwrap();
        pg.set_rank_hosts(vec!["n1".into(), "n2".into()]);
        let tx = std::sync::Mutex::new(tx);
        let watchdog = Watchdog {
            silent_after: Duration::from_secs(1),
            on_silent: Box::new(move |m| {
                let _ = tx.lock().unwrap().send(m);
            }),
        };
        let _beat = pg.start_heartbeat(Duration::from_millis(100), Some(watchdog)).unwrap();
        pg.barrier().unwrap();
        // Rank 1 never joins this all-reduce; the 60 s timeout would end it.
        let t = Tensor::from_slice(&[1.0f32]);
        let _ = pg.all_reduce(&[&t], ReduceOp::Sum);
    });
    let pg = ProcessGroup::new(&opts(1, 2, port, 60_000)).unwrap();
    let beat = pg.start_heartbeat(Duration::from_millis(100), None).unwrap();
    pg.barrier().unwrap();
    let start = Instant::now();
    drop(beat); // rank 1 goes silent but keeps its connections
    let message = rx.recv_timeout(Duration::from_secs(20)).expect("the watchdog's report");
    assert!(message.starts_with("rank 1 on n2 stopped responding: no heartbeat for 1."), "{message}");
    assert!(message.ends_with(" s (limit 1 s)"), "{message}");
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    // Let the survivor's all-reduce finish so that both threads end.
    let t = Tensor::from_slice(&[1.0f32]);
    pg.all_reduce(&[&t], ReduceOp::Sum).unwrap();
    survivor.join().unwrap();
}
