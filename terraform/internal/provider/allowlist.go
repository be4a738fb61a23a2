package provider

// The config keys kplane's API allows (app/core/kafka_config.py, TOPIC_CONFIGS and
// BROKER_CONFIGS), so an unknown key is refused at plan time. tests/unit/terraform checks that
// these lists equal the API's.

var topicConfigKeys = setOf(
	"cleanup.policy",
	"compression.type",
	"delete.retention.ms",
	"file.delete.delay.ms",
	"flush.messages",
	"flush.ms",
	"index.interval.bytes",
	"max.compaction.lag.ms",
	"max.message.bytes",
	"message.timestamp.type",
	"min.cleanable.dirty.ratio",
	"min.compaction.lag.ms",
	"min.insync.replicas",
	"retention.bytes",
	"retention.ms",
	"segment.bytes",
	"segment.index.bytes",
	"segment.jitter.ms",
	"segment.ms",
	"unclean.leader.election.enable",
)

var brokerConfigKeys = setOf(
	"auto.create.topics.enable",
	"compression.type",
	"default.replication.factor",
	"log.cleaner.threads",
	"log.retention.bytes",
	"log.retention.ms",
	"log.segment.bytes",
	"message.max.bytes",
	"min.insync.replicas",
	"num.io.threads",
	"num.network.threads",
	"num.partitions",
	"num.replica.fetchers",
	"offsets.retention.minutes",
	"replica.lag.time.max.ms",
	"socket.receive.buffer.bytes",
	"socket.send.buffer.bytes",
	"transaction.max.timeout.ms",
	"unclean.leader.election.enable",
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
