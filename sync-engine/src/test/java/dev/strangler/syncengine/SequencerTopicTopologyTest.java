package dev.strangler.syncengine;

/** The same cases with multi-partition cdc topics: changes reach the sequencer through the sequencer topic. */
class SequencerTopicTopologyTest extends SequencerTopologyTest {

    @Override
    boolean singlePartition() {
        return false;
    }
}
