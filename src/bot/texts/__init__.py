"""Everything the bot says, as pure functions returning Telegram HTML (parse mode HTML).

Anything that comes from a person (names, broadcast text) is escaped here; content comes
escaped from `trainingbot.content.render`. Every function keeps to Telegram's limits
(`limits`), which the unit tests check with the longest inputs.
"""
