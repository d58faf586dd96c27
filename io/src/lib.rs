//! looplet's reactor: the loop waits on the OS poller, and sockets wake exactly their tasks.
