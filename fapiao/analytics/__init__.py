"""Analytics over the warehouse: history, trends, reports. Pure query building and shaping only;
the `fapiao.warehouse` modules run the queries."""
