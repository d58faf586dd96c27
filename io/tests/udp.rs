//! UDP: datagrams between sockets on the loop, with and without `connect`.

use looplet_executor::{create_task, run, yield_now};
use looplet_io::net::UdpSocket;

#[test]
fn a_datagram_sent_to_an_address_arrives_with_its_sender() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(
            a.send_to(b"hello", b.local_addr().unwrap()).await.unwrap(),
            5
        );
        let mut buf = [0; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from, a.local_addr().unwrap());
    });
}

#[test]
fn a_pending_receive_wakes_when_a_datagram_arrives() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b_addr = b.local_addr().unwrap();
        let receiver = create_task(async move {
            let mut buf = [0; 16];
            let n = b.recv(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        yield_now().await; // the receiver is parked on the poller
        a.send_to(b"late", b_addr).await.unwrap();
        assert_eq!(receiver.await.unwrap(), b"late");
    });
}

#[test]
fn connected_sockets_send_and_receive_without_addresses() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        for round in 0..100u32 {
            a.send(&round.to_le_bytes()).await.unwrap();
            let mut buf = [0; 4];
            assert_eq!(b.recv(&mut buf).await.unwrap(), 4);
            b.send(&buf).await.unwrap();
            let mut back = [0; 4];
            a.recv(&mut back).await.unwrap();
            assert_eq!(u32::from_le_bytes(back), round);
        }
    });
}

#[test]
fn peeking_leaves_the_datagram_for_the_next_receive() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.send_to(b"twice", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0; 16];
        let (n, _) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"twice");
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"twice");
    });
}
