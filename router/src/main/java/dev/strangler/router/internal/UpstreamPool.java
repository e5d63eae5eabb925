package dev.strangler.router.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Kept-alive connections of one event loop to one upstream. Used only from its event loop (no locks): an
 * idle connection is taken if there is one, else a new one is opened up to the limit, else the caller waits
 * for the next connection given back.
 */
final class UpstreamPool {

    /** Who wants a connection. */
    interface Taker {
        /** @param reused the connection served requests before (it may have been closed by the upstream meanwhile) */
        void connected(Channel channel, boolean reused);

        void failed(Throwable cause);
    }

    private final Bootstrap bootstrap;
    private final int limit;
    private final Deque<Channel> idle = new ArrayDeque<>();
    private final Deque<Taker> waiting = new ArrayDeque<>();
    private int open;

    /** @param bootstrap bound to the pool's event loop, with the upstream's address */
    UpstreamPool(Bootstrap bootstrap, int limit) {
        this.bootstrap = bootstrap;
        this.limit = limit;
    }

    void take(Taker taker) {
        Channel channel;
        while ((channel = idle.pollLast()) != null) {
            if (channel.isActive()) {
                taker.connected(channel, true);
                return;
            }
        }
        if (open >= limit) {
            waiting.addLast(taker);
            return;
        }
        connect(taker);
    }

    /** A connection whose answer ended and that the upstream keeps alive: to the next waiting taker, or idle. */
    void giveBack(Channel channel) {
        if (!channel.isActive()) {
            return;
        }
        Taker next = waiting.pollFirst();
        if (next != null) {
            next.connected(channel, true);
        } else {
            idle.addLast(channel);
        }
    }

    /** A connection of this pool closed (by either end). */
    void closed(Channel channel) {
        open--;
        idle.remove(channel);
        Taker next = waiting.pollFirst();
        if (next != null) {
            connect(next);
        }
    }

    private void connect(Taker taker) {
        open++;
        ChannelFuture connect = bootstrap.connect();
        Channel channel = connect.channel();
        channel.closeFuture().addListener(f -> closed(channel));
        connect.addListener(f -> {
            if (f.isSuccess()) {
                taker.connected(channel, false);
            } else {
                taker.failed(f.cause());
            }
        });
    }
}
