//! Many callers, one worker that serves them in batches: whatever arrives while the
//! worker is busy goes in its next batch, so a burst costs one round trip per batch and
//! a lone caller waits for nobody.
use std::future::Future;

use tokio::sync::{OnceCell, mpsc, oneshot};

type Item<I, O> = (I, oneshot::Sender<O>);

pub struct Batcher<I, O> {
    tx: OnceCell<mpsc::Sender<Item<I, O>>>,
    most: usize,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// At most `most` items go in one batch.
    pub const fn new(most: usize) -> Batcher<I, O> {
        Batcher {
            tx: OnceCell::const_new(),
            most,
        }
    }

    /// Hands `item` to the worker and waits for its answer; the first call starts the
    /// worker with `serve`, which answers a batch with one output per input, in order.
    /// `None` when the worker has stopped.
    pub async fn call<S, F>(&self, item: I, serve: impl FnOnce() -> S) -> Option<O>
    where
        S: FnMut(Vec<I>) -> F + Send + 'static,
        F: Future<Output = Vec<O>> + Send + 'static,
    {
        let tx = self
            .tx
            .get_or_init(|| async {
                let (tx, rx) = mpsc::channel(4096);
                tokio::spawn(work(rx, self.most, serve()));
                tx
            })
            .await;
        let (done, answer) = oneshot::channel();
        tx.send((item, done)).await.ok()?;
        answer.await.ok()
    }
}

async fn work<I, O, S, F>(mut rx: mpsc::Receiver<Item<I, O>>, most: usize, mut serve: S)
where
    S: FnMut(Vec<I>) -> F,
    F: Future<Output = Vec<O>>,
{
    let mut batch = Vec::with_capacity(most);
    while rx.recv_many(&mut batch, most).await > 0 {
        let (items, waiting): (Vec<I>, Vec<oneshot::Sender<O>>) = batch.drain(..).unzip();
        for (out, done) in serve(items).await.into_iter().zip(waiting) {
            let _ = done.send(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn callers_at_the_same_moment_share_a_batch_and_each_gets_its_own_answer() {
        let batches = Arc::new(AtomicUsize::new(0));
        let batcher: Arc<Batcher<u32, u32>> = Arc::new(Batcher::new(64));
        let calls = (0..50u32).map(|n| {
            let (batcher, batches) = (batcher.clone(), batches.clone());
            tokio::spawn(async move {
                batcher
                    .call(n, move || {
                        move |items: Vec<u32>| {
                            batches.fetch_add(1, Ordering::SeqCst);
                            async move { items.into_iter().map(|n| n * 2).collect() }
                        }
                    })
                    .await
            })
        });
        let answers: Vec<_> = futures::future::join_all(calls).await;
        for (n, a) in answers.into_iter().enumerate() {
            assert_eq!(a.expect("joined"), Some(n as u32 * 2));
        }
        assert!(
            batches.load(Ordering::SeqCst) < 50,
            "fifty callers at once made {} batches",
            batches.load(Ordering::SeqCst)
        );
    }
}
