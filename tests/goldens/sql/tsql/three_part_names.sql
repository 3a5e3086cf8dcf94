-- context: database=Sales
INSERT INTO dbo.FactOrders (OrderId, Amount)
SELECT o.OrderId, o.Amount FROM Staging.dbo.Orders AS o JOIN [Ref].[dbo].[Currencies] AS c ON c.Code = o.Currency
